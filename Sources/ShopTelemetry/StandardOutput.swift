import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole lines to standard output under one lock, shared by the functions' JSON log handler and their EMF lines, so
/// that a metric object and a log line never interleave (a pipe write above 4 KiB is not atomic).
public enum StandardOutput {
    static let lock = Mutex(())

    public static func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in write(UnsafeRawBufferPointer(bytes)) }
    }

    public static func write(_ bytes: UnsafeRawBufferPointer) {
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
