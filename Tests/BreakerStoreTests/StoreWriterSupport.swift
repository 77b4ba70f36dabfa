import BreakerCore
import BreakerStorageContract
import BreakerStore
import BreakerSync
import Dispatch

/// Stands in for the server's shards: a breaker changes in memory and its snapshot is submitted
/// under the same lock, as the registry does.
final class Model: Sendable {
    let breakers = Mutex<[String: CircuitBreaker]>([:])

    @discardableResult
    func change(_ name: String, on writer: StoreWriter, alsoLog extra: [LoggedTransition] = [], dedupe: DedupeRow? = nil,
                _ body: (inout CircuitBreaker) -> [Transition] = { _ in [] }) -> [LoggedTransition] {
        breakers.withLock { all in
            var breaker = all[name] ?? CircuitBreaker(config: BreakerConfig(timeoutMs: 1), createdAt: at(0))
            let logged = body(&breaker).map { LoggedTransition(breaker: name, transition: $0) } + extra
            all[name] = breaker
            writer.submit(WriteBatch(breakers: [StoredBreaker(name: name, breaker: breaker)], transitions: logged,
                                     dedupes: dedupe.map { [$0] } ?? []))
            return logged
        }
    }

    var stored: [StoredBreaker] {
        breakers.withLock { $0.map { StoredBreaker(name: $0.key, breaker: $0.value) } }.sorted { $0.name < $1.name }
    }
}

/// Collects completion results from any thread.
final class Outcomes: Sendable {
    let results = Mutex<[Result<Void, StoreError>]>([])
    func record(_ result: Result<Void, StoreError>) { results.withLock { $0.append(result) } }
    var all: [Result<Void, StoreError>] { results.withLock { $0 } }
    /// nil for each success: `Result<Void, _>` is not `Equatable`.
    var errors: [StoreError?] {
        all.map { result in
            if case .failure(let error) = result { error } else { nil }
        }
    }
}

func makeWriter(_ path: String, prepare: (BreakerDatabase) throws -> Void = { _ in }) throws -> StoreWriter {
    let database = try openDatabase(path)
    try prepare(database)
    return StoreWriter(storage: database, elapsed: { .zero }, logger: quietLogger)
}

/// Holds the writer thread (as a slow fsync would) until the returned closure is called, so
/// that everything submitted meanwhile forms one batch.
func hold(_ writer: StoreWriter) -> @Sendable () -> Void {
    let (started, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
    writer.measureFileSize { _ in
        started.signal()
        gate.wait()
    }
    started.wait()
    return { gate.signal() }
}
