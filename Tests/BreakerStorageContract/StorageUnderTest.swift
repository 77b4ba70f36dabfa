import BreakerCore
import BreakerStore
import Testing

/// One `BreakerStorage` implementation as the contract tests drive it: a fresh, empty store per
/// test; reopening it (as a restart would); making its writes fail for a real reason and
/// succeed again. Each implementation's test target makes one and runs `BreakerStorageContract.all`
/// against it.
public struct StorageUnderTest: Sendable, CustomTestStringConvertible {
    public let name: String
    /// Makes a fresh store; returns it and a `Place` to reopen or remove it.
    public let create: @Sendable (_ transitionLogLimit: Int) throws -> (any BreakerStorage, Place)
    /// Makes writes fail (for a batch with at least a 64 KiB note), as a full disk would.
    public let failWrites: @Sendable (any BreakerStorage) throws -> Void
    public let allowWrites: @Sendable (any BreakerStorage) throws -> Void

    public struct Place: Sendable {
        public let reopen: @Sendable (_ transitionLogLimit: Int) throws -> any BreakerStorage
        public let remove: @Sendable () -> Void

        public init(reopen: @escaping @Sendable (_ transitionLogLimit: Int) throws -> any BreakerStorage,
                    remove: @escaping @Sendable () -> Void) {
            self.reopen = reopen
            self.remove = remove
        }
    }

    public init(name: String,
                create: @escaping @Sendable (_ transitionLogLimit: Int) throws -> (any BreakerStorage, Place),
                failWrites: @escaping @Sendable (any BreakerStorage) throws -> Void,
                allowWrites: @escaping @Sendable (any BreakerStorage) throws -> Void) {
        self.name = name
        self.create = create
        self.failWrites = failWrites
        self.allowWrites = allowWrites
    }

    public var testDescription: String { name }
}
