import CMPI

/// Element types the collectives move: each maps to an MPI datatype.
///
/// ```swift
/// var values: [Double] = [1, 2, 3]
/// try values.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .sum, what: "totals") }
/// ```
public protocol MPIScalar: BitwiseCopyable {
    /// The MPI datatype of one element.
    static var datatype: MPIDatatype { get }
}

/// The MPI datatypes the collectives use.
public enum MPIDatatype: Sendable {
    case float, double, int32, int64, uint64, uint8

    /// The handle (Open MPI's are global objects behind macros; see CMPI's shim.h).
    var handle: MPI_Datatype {
        switch self {
        case .float: cmpi_float()
        case .double: cmpi_double()
        case .int32: cmpi_int32()
        case .int64: cmpi_int64()
        case .uint64: cmpi_uint64()
        case .uint8: cmpi_uint8()
        }
    }

    /// The datatype of a scalar type (Float, Double, ...), nil for others.
    static func of<T>(_ type: T.Type) -> MPIDatatype? {
        switch type {
        case is Float.Type: .float
        case is Double.Type: .double
        case is Int32.Type: .int32
        case is Int64.Type, is Int.Type: .int64
        case is UInt64.Type: .uint64
        case is UInt8.Type: .uint8
        default: nil
        }
    }
}

extension Float: MPIScalar { public static var datatype: MPIDatatype { .float } }
extension Double: MPIScalar { public static var datatype: MPIDatatype { .double } }
extension Int32: MPIScalar { public static var datatype: MPIDatatype { .int32 } }
extension Int64: MPIScalar { public static var datatype: MPIDatatype { .int64 } }
extension UInt64: MPIScalar { public static var datatype: MPIDatatype { .uint64 } }
extension UInt8: MPIScalar { public static var datatype: MPIDatatype { .uint8 } }

/// Reduction operations.
public enum MPIReduction: Sendable {
    case sum, max, min

    var handle: MPI_Op {
        switch self {
        case .sum: cmpi_sum()
        case .max: cmpi_max()
        case .min: cmpi_min()
        }
    }
}
