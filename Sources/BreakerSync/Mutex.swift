// The lock every module uses for state shared between threads. Normally it *is* the standard
// library's `Synchronization.Mutex`. ThreadSanitizer cannot see that Mutex's locking on Linux
// (its futex calls happen inside the uninstrumented standard library), so under TSan every
// access inside `withLock` is reported as a race. For those builds only
// (`scripts/sanitizers.sh thread` passes `-DBREAKERD_TSAN`), `Mutex` is the same API over a
// pthread mutex, which TSan intercepts, so its reports are about our code again.

#if BREAKERD_TSAN
#if canImport(Glibc)
import Glibc
#endif

/// `Synchronization.Mutex`'s API over `pthread_mutex_t`, for ThreadSanitizer builds.
public final class Mutex<Value>: @unchecked Sendable {
    // @unchecked: `value` is only read or written inside `withLock`, between
    // pthread_mutex_lock and pthread_mutex_unlock on `lock`, which TSan and the CPU both honour.
    private var value: Value
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    public init(_ initialValue: sending Value) {
        value = initialValue
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body(&value)
    }
}
#else
@_exported import struct Synchronization.Mutex
#endif
