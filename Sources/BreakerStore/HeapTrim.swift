#if canImport(Glibc)
import Glibc
#endif

/// glibc's `malloc_trim(0)`: returns the heap's free pages to the system. Looked up at run time
/// (it is not in the `Glibc` module, and other C libraries lack it); a no-op where missing.
package func releaseFreeHeap() {
    #if canImport(Glibc)
    _ = mallocTrim?(0)
    #endif
}

#if canImport(Glibc)
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
}()
#endif
