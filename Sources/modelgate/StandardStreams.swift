#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to the standard streams (file descriptors 1 and 2), which avoids C's
/// shared `FILE *` globals and guarantees a line is out before the next event.
enum StandardStreams {
    static func writeOut(_ text: String) {
        write(fd: 1, text)
    }

    static func writeError(_ text: String) {
        write(fd: 2, text)
    }

    private static func write(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
