extension JSONValue {
    /// An integer value that fits in `Int64`; nil for fractions, exponents, other kinds and
    /// integers out of range (read those with ``numberText``).
    package var int64: Int64? {
        guard let (digits, negative) = integerDigits else { return nil }
        var value: Int64 = 0
        for digit in digits {
            // Accumulate negatively so that Int64.min is reachable.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// A non-negative integer value that fits in `UInt64` (`-0` counts as 0).
    package var uint64: UInt64? {
        guard let (digits, negative) = integerDigits else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(UInt64(digit &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        return negative && value != 0 ? nil : value
    }

    /// An integer value that fits in `Int`.
    package var int: Int? { int64.flatMap { Int(exactly: $0) } }

    /// Any number as the nearest `Double` (correctly rounded). Magnitudes beyond the `Double`
    /// range give infinity.
    package var double: Double? {
        guard let text = numberBytes else { return nil }
        if let fast = JSONDecimal(text)?.double { return fast }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// Any number as the nearest `Float` (correctly rounded from the text, not via `Double`).
    package var float: Float? {
        guard let text = numberBytes else { return nil }
        if let fast = JSONDecimal(text)?.float { return fast }
        return Float(String(decoding: text, as: UTF8.self))
    }

    private var numberBytes: UnsafeBufferPointer<UInt8>? {
        guard let document, document.nodes[index].kind == .number else { return nil }
        return document.rawText(at: index)
    }

    /// The digits of an integer (no fraction or exponent) and its sign.
    private var integerDigits: (UnsafeBufferPointer<UInt8>, negative: Bool)? {
        guard let document else { return nil }
        let node = document.nodes[index]
        guard node.kind == .number, node.flags & JSONNode.flagEscapedOrFractional == 0 else { return nil }
        let negative = node.flags & JSONNode.flagNegative != 0
        let start = Int(node.start) + (negative ? 1 : 0)
        return (UnsafeBufferPointer(start: document.text + start, count: Int(node.end) - start), negative)
    }
}

/// A validated JSON number split into an integer significand and a power of ten, for the
/// exact fast paths of decimal-to-binary conversion (Clinger 1990): when the significand and
/// the power of ten are both exactly representable, one IEEE multiplication or division
/// gives the correctly rounded result. Anything else falls back to the standard library.
struct JSONDecimal {
    var significand: UInt64 = 0
    var exponent = 0
    var negative = false

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
    private static let floatPowersOfTen: [Float] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

    /// Nil when the significand has more than 19 digits (the fast paths could not use it).
    init?(_ text: UnsafeBufferPointer<UInt8>) {
        var position = text.startIndex
        let end = text.endIndex
        if text[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var significantDigits = 0
        var inFraction = false
        while position < end {
            let byte = text[position]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if isDigit(byte) {
                let digit = UInt64(byte &- UInt8(ascii: "0"))
                if inFraction { exponent -= 1 }
                if significand != 0 || digit != 0 {
                    significantDigits += 1
                    guard significantDigits <= 19 else { return nil }
                    significand = significand * 10 + digit
                }
            } else {
                break  // 'e' or 'E'
            }
            position += 1
        }
        if position < end {
            position += 1
            var exponentNegative = false
            if text[position] == UInt8(ascii: "-") || text[position] == UInt8(ascii: "+") {
                exponentNegative = text[position] == UInt8(ascii: "-")
                position += 1
            }
            var value = 0
            while position < end {
                // Saturate: anything this large is outside every fast path anyway.
                value = min(value * 10 + Int(text[position] &- UInt8(ascii: "0")), 100_000)
                position += 1
            }
            exponent += exponentNegative ? -value : value
        }
    }

    var double: Double? { exact(powersOfTen: Self.powersOfTen, significandLimit: 1 << 53) }

    var float: Float? { exact(powersOfTen: Self.floatPowersOfTen, significandLimit: 1 << 24) }

    /// The value when significand and power of ten are both exact in `F`, else nil.
    private func exact<F: BinaryFloatingPoint>(powersOfTen: [F], significandLimit: UInt64) -> F? {
        if significand == 0 { return negative ? -0.0 : 0.0 }
        guard significand <= significandLimit, exponent.magnitude < powersOfTen.count else { return nil }
        var value = F(significand)
        if exponent >= 0 {
            value *= powersOfTen[exponent]
        } else {
            value /= powersOfTen[-exponent]
        }
        return negative ? -value : value
    }
}
