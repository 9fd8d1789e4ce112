import Foundation
import Scheduler

extension Profile {
    /// Writes trace.json, summary.txt, summary.json, graph.dot and report.html into `directory`
    /// (created if needed), and returns their URLs. Each file is written to a temporary name and
    /// renamed, so a reader never sees half a file.
    ///
    ///     let profile = try Profile(graph: compiled, events: recorder.events)
    ///     try profile.write(to: URL(fileURLWithPath: "profile"))
    @discardableResult
    public func write(to directory: URL, title: String = "Profile",
                      limits: ProfileOutputLimits = ProfileOutputLimits()) throws(ProfileError) -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: directory.path, reason: "\(error)")
        }
        let note = traceSelection(limit: limits.traceEvents).note.map { ["trace.json " + $0 + "."] } ?? []
        let files: [(String, String)] = [
            ("trace.json", chromeTrace(limits: limits)),
            ("summary.txt", summaryText(limits: limits, notes: note)),
            ("summary.json", summaryJSON(limits: limits, notes: note)),
            ("graph.dot", graphviz(limits: limits)),
            ("report.html", htmlReport(title: title, limits: limits, notes: note)),
        ]
        var urls = [URL]()
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            do {
                try Data(text.utf8).write(to: url, options: .atomic)
            } catch {
                throw .writeFailed(path: url.path, reason: "\(error)")
            }
            urls.append(url)
        }
        return urls
    }
}
