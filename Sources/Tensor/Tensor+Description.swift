extension Tensor: CustomStringConvertible {
    /// Nested brackets row by row, like NumPy; dimensions longer than 8 show their first and last
    /// three entries around `...`.
    ///
    /// ```
    /// Tensor<Float> [2, 3]
    /// [[1.0, 2.0, 3.0],
    ///  [4.0, 5.0, 6.0]]
    /// ```
    public var description: String {
        let values = scalars
        var text = "Tensor<\(Scalar.self)> \(shape)\n"
        if shape.isEmpty { return text + "\(values[0])" }
        if values.isEmpty { return text + "[]" }
        let r = shape.count
        let strides = Tensor.contiguousStrides(shape)
        // Displayed positions per dimension; -1 marks the elided middle.
        let shown: [[Int]] = shape.map { n in n <= 8 ? Array(0..<n) : [0, 1, 2, -1, n - 3, n - 2, n - 1] }
        var at = [Int](repeating: 0, count: r)        // positions into `shown`
        while true {
            var opens = 0
            while opens < r && at[r - 1 - opens] == 0 { opens += 1 }
            if opens > 0 { text += String(repeating: "[", count: opens) }
            if let d = (0..<r).first(where: { shown[$0][at[$0]] < 0 }) {
                text += "..."
                for e in (d + 1)..<r { at[e] = shown[e].count - 1 }
            } else {
                var flat = 0
                for d in 0..<r { flat += shown[d][at[d]] * strides[d] }
                text += "\(values[flat])"
            }
            // Advance the odometer, closing a bracket for each dimension that wraps.
            var d = r - 1
            var closes = 0
            while d >= 0 {
                at[d] += 1
                if at[d] < shown[d].count { break }
                at[d] = 0
                closes += 1
                d -= 1
            }
            text += String(repeating: "]", count: closes)
            if d < 0 { break }
            text += closes == 0 ? ", " : "," + String(repeating: "\n", count: closes) + String(repeating: " ", count: r - closes)
        }
        return text
    }
}
