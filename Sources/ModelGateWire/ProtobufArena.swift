import CProtobufC

/// A bump allocator that protobuf-c decodes into and the encoder builds C messages in.
///
/// Every allocation is preceded by its size, which is how the decoder learns the exact length
/// of a string field (protobuf-c NUL-terminates strings and keeps no length, so an embedded NUL
/// would otherwise truncate them). `free` is a no-op; ``reset()`` releases everything at once,
/// after the caller has copied the decoded values into Swift types.
///
/// Not thread-safe: one arena belongs to one connection or one call at a time.
final class ProtobufArena {
    private static let headerSize = 8
    private static let alignment = 8
    private let chunkSize: Int
    /// Chunks in use, the current one last. The first chunk is kept across resets.
    private var chunks: [(base: UnsafeMutableRawPointer, size: Int)] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    /// Bytes handed out since the last reset, to cap what one message may make us allocate.
    private(set) var allocatedBytes = 0
    /// Allocation fails (and protobuf-c's unpack returns NULL) beyond this many bytes.
    var limit: Int

    init(chunkSize: Int = 16 * 1024, limit: Int = 64 * 1024 * 1024) {
        self.chunkSize = chunkSize
        self.limit = limit
    }

    deinit {
        for chunk in chunks {
            chunk.base.deallocate()
        }
    }

    /// Memory for `size` bytes, 8-byte aligned, or nil past the limit.
    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let rounded = (size + Self.alignment - 1) & ~(Self.alignment - 1)
        let needed = rounded + Self.headerSize
        guard allocatedBytes + needed <= limit else { return nil }
        if needed > remaining {
            let newSize = max(chunkSize, needed)
            let base = UnsafeMutableRawPointer.allocate(byteCount: newSize, alignment: Self.alignment)
            chunks.append((base, newSize))
            cursor = base
            remaining = newSize
        }
        guard let start = cursor else { return nil }
        start.storeBytes(of: UInt64(size), as: UInt64.self)
        cursor = start + needed
        remaining -= needed
        allocatedBytes += needed
        return start + Self.headerSize
    }

    /// The size requested for `pointer`, if the arena handed it out.
    func allocationSize(of pointer: UnsafeRawPointer) -> Int? {
        for chunk in chunks where pointer >= UnsafeRawPointer(chunk.base) + Self.headerSize
            && pointer < UnsafeRawPointer(chunk.base) + chunk.size
        {
            return Int((pointer - Self.headerSize).load(as: UInt64.self))
        }
        return nil
    }

    /// Releases every allocation. Keeps one chunk for reuse.
    func reset() {
        if chunks.count > 1 {
            for chunk in chunks.dropFirst() {
                chunk.base.deallocate()
            }
            chunks.removeLast(chunks.count - 1)
        }
        if let first = chunks.first {
            cursor = first.base
            remaining = first.size
        }
        allocatedBytes = 0
    }

    /// A protobuf-c allocator backed by this arena.
    ///
    /// The returned value holds an unretained pointer to the arena: it is valid only while
    /// the arena is alive, which callers guarantee by keeping the arena for the whole decode.
    var allocator: ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in
                guard let data else { return nil }
                return Unmanaged<ProtobufArena>.fromOpaque(data).takeUnretainedValue().allocate(size)
            },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(self).toOpaque())
    }
}
