import ModelGateJSON
import Testing

@Suite("JSON numbers")
struct JSONNumberTests {
    private func number(_ text: String) throws -> JSONValue {
        try JSONDocument(parsing: text).root
    }

    @Test func integers() throws {
        #expect(try number("0").int64 == 0)
        #expect(try number("-7").int64 == -7)
        #expect(try number("9223372036854775807").int64 == .max)
        #expect(try number("-9223372036854775808").int64 == .min)
        #expect(try number("9223372036854775808").int64 == nil)
        #expect(try number("-9223372036854775809").int64 == nil)
        #expect(try number("18446744073709551615").uint64 == .max)
        #expect(try number("18446744073709551616").uint64 == nil)
        #expect(try number("-1").uint64 == nil)
        #expect(try number("-0").uint64 == 0)
        #expect(try number("1.0").int64 == nil)
        #expect(try number("1e2").int64 == nil)
    }

    @Test func integersBeyondTwoToThe53AreKeptExactly() throws {
        let big = try number("9007199254740993")  // 2^53 + 1: not a Double
        #expect(big.int64 == 9_007_199_254_740_993)
        #expect(big.numberText == "9007199254740993")
        let huge = try number("123456789012345678901234567890")
        #expect(huge.int64 == nil)
        #expect(huge.numberText == "123456789012345678901234567890")
        #expect(huge.double == 1.2345678901234568e29)
    }

    @Test func doubles() throws {
        #expect(try number("0.1").double == 0.1)
        #expect(try number("-2.5").double == -2.5)
        #expect(try number("1e3").double == 1000)
        #expect(try number("1E+3").double == 1000)
        #expect(try number("25e-1").double == 2.5)
        #expect(try number("0.0023064255").double == 0.0023064255)
        #expect(try number("1.7976931348623157e308").double == .greatestFiniteMagnitude)
        #expect(try number("5e-324").double == .leastNonzeroMagnitude)
        #expect(try number("2.2250738585072014e-308").double == 2.2250738585072014e-308)
        #expect(try number("0.30000000000000004").double == 0.30000000000000004)
        #expect(try number("123456789012345678").double == 123_456_789_012_345_680)
        #expect(try number("1e400").double == .infinity)
        #expect(try number("\"1\"").double == nil)
    }

    @Test func negativeZero() throws {
        let zero = try #require(try number("-0").double)
        #expect(zero == 0 && zero.sign == .minus)
        let zeroPointZero = try #require(try number("-0.0").double)
        #expect(zeroPointZero.sign == .minus)
        let zeroExponent = try #require(try number("-0e10").float)
        #expect(zeroExponent.sign == .minus)
        #expect(try number("-0").int64 == 0)
    }

    @Test func floatsAreRoundedFromTheText() throws {
        #expect(try number("0.7").float == Float(0.7))
        #expect(try number("-0.009327292").float == -0.009327292 as Float)
        #expect(try number("3.4028235e38").float == .greatestFiniteMagnitude)
        #expect(try number("1.00000005960464477539062500001").float == Float(1.0000001))
        #expect(try number("16777217").float == 16_777_216)
    }
}
