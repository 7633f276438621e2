import ModelGateCrypto
import Testing

@Suite("SHA-256 (NIST examples)")
struct SHA256Tests {
    private func digest(_ text: String) -> String {
        Hex.encode(SHA256.hash(Array(text.utf8)))
    }

    /// FIPS 180-4 examples (NIST "SHA256.pdf" and "SHA2_Additional.pdf").
    @Test func nistExamples() {
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            digest(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
            ) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func oneMillionAs() {
        #expect(
            Hex.encode(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Padding edge cases: 55, 56, 63, 64 and 65 bytes straddle the length field and the block.
    @Test(arguments: [55, 56, 63, 64, 65, 119, 120, 128])
    func pieceBoundariesDoNotMatter(length: Int) {
        let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = SHA256.hash(message)
        for split in 0...length {
            var hasher = SHA256()
            hasher.update(message[..<split])
            hasher.update(message[split...])
            #expect(hasher.finalize() == whole, "split at \(split)")
        }
    }
}

@Suite("HMAC-SHA256 (RFC 4231)")
struct HMACSHA256Tests {
    private func mac(key: [UInt8], _ message: [UInt8]) -> String {
        Hex.encode(HMACSHA256.authenticationCode(key: key, message: message))
    }

    @Test func rfc4231TestCases() {
        // 4.2 Test Case 1
        #expect(
            mac(key: [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        // 4.3 Test Case 2: a key shorter than the output
        #expect(
            mac(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // 4.4 Test Case 3
        #expect(
            mac(key: [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50))
                == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        // 4.5 Test Case 4
        #expect(
            mac(key: Array(1...25), [UInt8](repeating: 0xcd, count: 50))
                == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        // 4.6 Test Case 5: the RFC gives only the first 128 bits
        #expect(
            mac(key: [UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8)).prefix(32)
                == "a3b6167473100ee06e0c796c2955552b")
        // 4.7 Test Case 6: a key longer than the block is hashed first
        #expect(
            mac(
                key: [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        // 4.8 Test Case 7
        #expect(
            mac(
                key: [UInt8](repeating: 0xaa, count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8))
                == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }
}

@Suite("CRC-32 and hex")
struct CRC32Tests {
    @Test func knownChecksums() {
        // The CRC-32 "check" value (the checksum of the ASCII digits 1 to 9).
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func continuingMatchesWhole() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32.checksum(message)
        for split in 0...message.count {
            #expect(CRC32.checksum(message[split...], continuing: CRC32.checksum(message[..<split])) == whole)
        }
    }

    @Test func hexRoundTrip() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.decode("000FA5ff") == [0x00, 0x0f, 0xa5, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
