import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files so that readers (and crashes) only ever see the old contents or the new ones.
public enum AtomicFile {
    /// Writes `bytes` to a fresh temporary file next to `path` (same directory, so the rename stays
    /// on one file system), fsyncs it, renames it over `path`, and fsyncs the directory so the
    /// rename itself is durable. On failure the temporary file is removed and `path` is untouched.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw CheckpointError.writeFailed(file: path, reason: "the path names a directory") }
        let temp = "\(directory)/.\(base).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF)"

        func failure(_ what: String) -> CheckpointError {
            CheckpointError.writeFailed(file: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temp)") }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("write")
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw failure("fsync") }
        closed = true
        guard close(fd) == 0 else { throw failure("close") }
        guard rename(temp, path) == 0 else { throw failure("rename") }
        renamed = true
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)     // best effort: some file systems refuse fsync on directories
            close(dirFD)
        }
    }
}
