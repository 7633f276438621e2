import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves `replay=` files from one directory, cached in memory.
///
/// Only regular files directly inside the directory are served: names with a path separator,
/// `.`/`..` and symbolic links are refused, so a scenario can never read outside it. Files are
/// read with plain blocking calls on first use; they are small, and a cached copy is
/// revalidated with one `lstat` per request so an edited fixture is picked up.
final class FixtureStore: Sendable {
    enum LoadError: Error, Equatable {
        case badName
        case notFound
        case tooLarge
        case unreadable
    }

    private struct Entry {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
        var contents: ByteBuffer
    }

    let directory: String
    private let cache = Mutex<[String: Entry]>([:])
    private static let maxFileBytes = 256 << 20

    init(directory: String) {
        self.directory = directory
    }

    func load(_ name: String) -> Result<ByteBuffer, LoadError> {
        guard Self.isPlainName(name) else { return .failure(.badName) }
        let path = self.directory.hasSuffix("/") ? self.directory + name : self.directory + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return .failure(.notFound)
        }
        let identity = (
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int(info.st_size),
            seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec)
        )
        if let cached = self.cache.withLock({ $0[name] }), cached.device == identity.device,
            cached.inode == identity.inode, cached.size == identity.size, cached.modifiedSeconds == identity.seconds,
            cached.modifiedNanoseconds == identity.nanoseconds
        {
            return .success(cached.contents)
        }
        guard identity.size <= Self.maxFileBytes else { return .failure(.tooLarge) }
        guard let contents = Self.readFile(path: path, expectedSize: identity.size) else {
            return .failure(.unreadable)
        }
        let entry = Entry(
            device: identity.device, inode: identity.inode, size: identity.size, modifiedSeconds: identity.seconds,
            modifiedNanoseconds: identity.nanoseconds, contents: contents)
        self.cache.withLock { $0[name] = entry }
        return .success(contents)
    }

    /// A file name with no directory part.
    static func isPlainName(_ name: String) -> Bool {
        if name.isEmpty || name == "." || name == ".." { return false }
        return !name.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
    }

    private static func readFile(path: String, expectedSize: Int) -> ByteBuffer? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = ByteBufferAllocator().buffer(capacity: max(expectedSize, 1))
        while true {
            var failed = false
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 << 10) { out -> Int in
                var result: Int
                repeat {
                    result = read(fd, out.baseAddress, out.count)
                } while result < 0 && errno == EINTR
                if result < 0 {
                    failed = true
                    return 0
                }
                return result
            }
            if failed || buffer.readableBytes > maxFileBytes { return nil }
            if count == 0 { return buffer }
        }
    }
}
