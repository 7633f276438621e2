import ModelGateJSON

/// Finding line ends in received bytes: the one scan shared by the SSE and NDJSON decoders.
enum LineEnds {
    /// The offset of the first LF, or CR too when `orCarriageReturn`, at or after `start`:
    /// sixteen bytes per step (SIMD compares), then eight (SWAR), then one at a time.
    @inline(__always)
    static func first(in buffer: [UInt8], from start: Int, orCarriageReturn: Bool) -> Int? {
        buffer.withUnsafeBufferPointer { bytes -> Int? in
            guard let base = bytes.baseAddress else { return nil }
            let raw = UnsafeRawPointer(base)
            var index = start
            let end = bytes.count
            // Without CR, both vectors look for LF.
            let second: UInt8 = orCarriageReturn ? 0x0D : 0x0A
            let lineFeeds = SIMD16<UInt8>(repeating: 0x0A)
            let others = SIMD16<UInt8>(repeating: second)
            while index + 16 <= end {
                let block = raw.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                if any((block .== lineFeeds) .| (block .== others)) { break }
                index += 16
            }
            while index + 8 <= end {
                let word = SWAR.load(raw, at: index)
                let found = SWAR.bytes(word, equalTo: 0x0A) | SWAR.bytes(word, equalTo: second)
                if found != 0 { return index + SWAR.firstFlaggedByte(found) }
                index += 8
            }
            while index < end {
                let byte = base[index]
                if byte == 0x0A || byte == second { return index }
                index += 1
            }
            return nil
        }
    }
}
