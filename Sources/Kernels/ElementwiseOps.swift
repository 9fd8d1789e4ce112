/// A binary elementwise operation. `max` and `min` propagate NaN: if either input is NaN the
/// result is NaN (unlike IEEE `maxNum`), so a NaN anywhere in a network stays visible.
public enum BinaryOp: Sendable, Hashable, CaseIterable {
    case add, sub, mul, div, max, min
}

/// A unary elementwise operation. `exp`, `log`, `tanh`, `sigmoid` and `gelu` use the vectorized
/// approximations of `KernelFloat` (Float error bounds there); `relu` maps NaN to
/// NaN; `pow(p)` raises to a constant power (`pow(2)` is exactly `x*x`, `pow(0.5)` is `sqrt`).
public enum UnaryOp: Sendable, Hashable {
    case neg, abs, sqrt, square, exp, log, tanh, sigmoid, relu, gelu
    case pow(Double)
}

/// The local derivative of a unary operation, applied to an incoming gradient:
/// `dx = dy · f'(·)`. Each case says which saved value it takes: the forward **input** `x` or the
/// forward **output** `y` (cheaper where the derivative is a function of the output).
public enum UnaryGradient: Sendable, Hashable {
    /// `dy` where `x > 0`, else 0 (NaN where x is NaN). Takes the input x.
    case relu
    /// `dy · sign(x)` (0 at x = 0). Takes the input x.
    case abs
    /// `dy / (2y)`. Takes the output y = √x.
    case sqrt
    /// `2x · dy`. Takes the input x.
    case square
    /// `dy · y`. Takes the output y = eˣ.
    case exp
    /// `dy / x`. Takes the input x.
    case log
    /// `dy · (1 - y²)`. Takes the output y = tanh x.
    case tanh
    /// `dy · y(1 - y)`. Takes the output y = sigmoid x.
    case sigmoid
    /// `dy · gelu'(x)` of the tanh-form GELU. Takes the input x.
    case gelu
    /// `dy · p · x^(p-1)`. Takes the input x.
    case pow(Double)
}

// MARK: - Functors: one specialized loop per operation, no switch inside loops
//
// Functors that compare lanes call `KernelFloat`'s concrete selections (see there why).

protocol BinaryFunctor {
    /// The operation, which names its C kernel (Float runs those on contiguous and broadcast operands).
    static var op: BinaryOp { get }
    static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector
}

enum AddOp: BinaryFunctor { static var op: BinaryOp { .add }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { a + b } }
enum SubOp: BinaryFunctor { static var op: BinaryOp { .sub }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { a - b } }
enum MulOp: BinaryFunctor { static var op: BinaryOp { .mul }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { a * b } }
enum DivOp: BinaryFunctor { static var op: BinaryOp { .div }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { a / b } }
enum MaxOp: BinaryFunctor { static var op: BinaryOp { .max }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { T.maximum(a, b) } }
enum MinOp: BinaryFunctor { static var op: BinaryOp { .min }; @inline(__always) static func apply<T: KernelFloat>(_ t: T.Type, _ a: T.Vector, _ b: T.Vector) -> T.Vector { T.minimum(a, b) } }

/// A unary map on whole vectors; `p` is the operation's constant (the exponent of `pow`).
protocol UnaryFunctor {
    static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector
}

enum NegOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { -x } }
enum AbsOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.magnitude(x) } }
enum SqrtOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.squareRoot(x) } }
enum SquareOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { x * x } }
enum ExpOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.exp(x) } }
enum LogOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.log(x) } }
enum TanhOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.tanh(x) } }
enum SigmoidOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.sigmoid(x) } }
enum GeluOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.gelu(x) } }
enum PowOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.pow(x, p) } }
enum ReluOp: UnaryFunctor { @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ p: T) -> T.Vector { T.relu(x) } }

/// `dx = f(value, dy)`; `p` is the operation's constant.
protocol GradientFunctor {
    static func apply<T: KernelFloat>(_ v: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector
}

enum ReluGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector { T.reluGradient(x, dy) }
}
enum AbsGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector { T.absGradient(x, dy) }
}
enum SqrtGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ y: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        dy / (y + y)
    }
}
enum SquareGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        (x + x) * dy
    }
}
enum ExpGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ y: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector { dy * y }
}
enum LogGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector { dy / x }
}
enum TanhGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ y: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        dy * (1 - y * y)
    }
}
enum SigmoidGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ y: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        dy * (y * (1 - y))
    }
}
enum GeluGrad: GradientFunctor {
    /// gelu(x) = x·s with s = sigmoid(2u), u = c(x + 0.044715x³):
    /// gelu'(x) = s + x · 2s(1-s) · c(1 + 3·0.044715x²).
    /// Double only (as are all these functors' loops for the operations with a C kernel: see
    /// `FloatKernel`): Float runs the same formula with fused multiply-adds in C; here plain
    /// multiplies and adds, which compile to vector instructions at any level.
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        let c = T.Vector(repeating: T(0.7978845608028654))
        let k = T.Vector(repeating: T(0.044715))
        let x2 = x * x
        let u2 = 2 * c * (x + x * x2 * k)
        let s = T.sigmoid(u2)
        let du = c * (1 + 3 * k * x2)
        let d = s + x * (2 * s * (1 - s)) * du
        return dy * d
    }
}
enum PowGrad: GradientFunctor {
    @inline(__always) static func apply<T: KernelFloat>(_ x: T.Vector, _ dy: T.Vector, _ p: T) -> T.Vector {
        dy * T.Vector(repeating: p) * T.pow(x, p - 1)
    }
}
