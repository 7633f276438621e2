/// Word-at-a-time byte tests ("SIMD within a register"), for scanners that look for a few
/// byte values in long runs of ordinary text.
///
/// Each test returns a mask with the high bit set in the bytes that match. Borrows can also
/// flag bytes *after* the first real match, never before it, and never miss one: a zero mask
/// proves the word holds no match, and the lowest flagged byte (``firstFlaggedByte(_:)``) is
/// always a real one. That holds for an OR of several masks too.
///
/// `public` rather than `package` on purpose: with Swift 6.3.1 the `@inlinable` members of a
/// `package` type are not inlined into other modules, and these one-instruction helpers sit in
/// the innermost loops of the SSE decoder (ModelGateProviders).
public enum SWAR {
    public static let lowBits: UInt64 = 0x0101_0101_0101_0101
    public static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `offset`, the first in the lowest bits whatever the platform's byte order.
    @inlinable @inline(__always)
    public static func load(_ base: UnsafeRawPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The position (0-7) in the word of the first byte flagged in a nonzero `mask`.
    @inlinable @inline(__always)
    public static func firstFlaggedByte(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount >> 3
    }

    /// Bytes equal to zero.
    @inlinable @inline(__always)
    public static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- lowBits) & ~word & highBits
    }

    /// Bytes equal to `byte`.
    @inlinable @inline(__always)
    public static func bytes(_ word: UInt64, equalTo byte: UInt8) -> UInt64 {
        zeroBytes(word ^ (lowBits &* UInt64(byte)))
    }

    /// Bytes below `limit` (at most 0x80); bytes of 0x80 and above are not reported reliably.
    @inlinable @inline(__always)
    public static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- lowBits &* UInt64(limit)) & ~word & highBits
    }
}
