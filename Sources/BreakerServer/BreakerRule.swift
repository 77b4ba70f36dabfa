import BreakerCore

/// "Breakers whose name starts with `prefix` are created with `config`": how one daemon serves
/// dependencies of different kinds (a Kafka topic trips faster than an external API) without
/// every client having to `configure` each breaker first.
public struct BreakerRule: Sendable, Hashable {
    /// Matched against the start of the breaker name; empty matches every name.
    public var prefix: String
    public var config: BreakerConfig

    public init(prefix: String, config: BreakerConfig) {
        self.prefix = prefix
        self.config = config
    }
}

extension BreakerRegistry.Settings {
    /// The config a breaker named `name` starts with: the first rule whose prefix matches, else
    /// `defaultConfig`. Rules are few and only consulted when a breaker is created or configured.
    public func config(for name: String) -> BreakerConfig {
        rules.first { name.hasPrefix($0.prefix) }?.config ?? defaultConfig
    }
}
