import BreakerCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import BreakerTLS

extension BreakerClient {
    /// What the client does when breakerd cannot be asked (unreachable, too slow, or talking
    /// nonsense) and no cached answer is still valid.
    public enum FallbackMode: String, Sendable, Hashable {
        /// Allow every call: availability of the service over protection of the dependency.
        case failOpen = "fail_open"
        /// Reject every call: for dependencies that must never be overloaded.
        case failClosed = "fail_closed"
        /// An in-process `CircuitBreaker` per breaker, with the breaker's last known config and
        /// state, decides from this replica's own outcomes until breakerd is back; then its
        /// state is dropped and the daemon's is used again.
        case local
    }

    /// Exponential reconnection delays with full jitter, so replicas that lost the daemon
    /// together do not all knock again at the same instant.
    public struct Backoff: Sendable, Hashable {
        /// Ceiling of the first delay; doubles per failed try.
        public var initial: Duration
        /// No delay is longer.
        public var maximum: Duration

        /// Short first delays (a restarted daemon is back within milliseconds), capped so a
        /// long outage is still noticed to end within `maximum`.
        public init(initial: Duration = .milliseconds(20), maximum: Duration = .seconds(2)) {
            self.initial = initial
            self.maximum = maximum
        }

        func delay(afterFailures failures: Int) -> Duration {
            var generator = SystemRandomNumberGenerator()
            return RetryPolicy(maxAttempts: 2, initialDelay: initial, maxDelay: maximum)
                .delay(beforeRetry: max(1, failures), using: &generator)
        }
    }

    /// Everything a client can be told. The defaults suit a service on the same host or
    /// network as breakerd.
    public struct Configuration: Sendable {
        /// The daemons to talk to, in order: one breakerd, or the daemons of a cluster (one
        /// leader, standbys). The client follows a `not_leader` answer to the leader it names,
        /// and when a connection is lost or refused tries the next endpoint (with jittered
        /// backoff once every one has failed in a row); `fallback` decides only while none answers.
        public var endpoints: [Endpoint]
        /// The first endpoint's host (`--host`).
        public var host: String {
            get { endpoints.first?.host ?? "" }
            set { if endpoints.isEmpty { endpoints = [Endpoint(host: newValue, port: 7420)] } else { endpoints[0].host = newValue } }
        }
        /// The first endpoint's protocol port (`--port`).
        public var port: Int {
            get { endpoints.first?.port ?? 0 }
            set { if endpoints.isEmpty { endpoints = [Endpoint(host: "127.0.0.1", port: newValue)] } else { endpoints[0].port = newValue } }
        }
        /// See `FallbackMode`; `.local` by default.
        public var fallback: FallbackMode = .local
        /// Config for `.local` fallback breakers the client never learnt a config for.
        public var defaultLocalConfig: BreakerConfig = .default
        /// Longest wait for a TCP connection.
        public var connectTimeout: Duration = .milliseconds(250)
        /// Longest a call waits for the daemon's decision; past it the fallback decides and the
        /// connection is replaced. This bounds how long the daemon can delay any call.
        public var decisionTimeout: Duration = .milliseconds(250)
        /// Longest wait for other replies (records, `configure`, `watch`, heartbeats); a
        /// connection that takes longer is considered dead and replaced.
        public var requestTimeout: Duration = .seconds(2)
        /// A connection that has heard nothing from the daemon for this long is pinged, so a
        /// daemon that hangs is noticed without traffic. A connection carrying replies is never
        /// pinged, nor the watch connection while its heartbeats (`watchHeartbeat`) arrive: it
        /// is pinged only after twice that interval of silence. Nil turns pings off.
        public var heartbeatInterval: Duration? = .seconds(1)
        /// Delays between reconnection tries.
        public var reconnectBackoff = Backoff()
        /// Subscribe to pushed transitions (one `watch` connection). Without it cached answers
        /// live for their full `cache_ms`.
        public var watchTransitions = true
        /// Only transitions of breakers whose names start with this are pushed (all when nil):
        /// a service using a few breakers of a busy daemon need not hear of the rest.
        public var watchPrefix: String?
        /// How this service names itself to the daemon (`hello`, e.g. `orders-7f9c`): breakers
        /// with a `min_reporters` quorum count distinct names, so one broken replica cannot
        /// open a breaker for everyone. 1–64 bytes of the breaker-name alphabet; nil sends none
        /// (each record connection then counts as its own anonymous reporter).
        public var clientName: String?
        /// Connections records are pipelined on; each breaker always uses the same one, so its
        /// outcomes reach the daemon in order. One carries every breaker's flushed successes in
        /// one `record-batch` line per `successFlush`; more only spread the lines.
        public var recordConnections = 1
        /// Successes on a closed breaker are summed per breaker and sent together every
        /// `successFlush` (as one `record-batch` line per record connection), instead of one record per
        /// call. A failure is never held: it first sends its breaker's pending successes, then
        /// goes at once, so a breaker never opens late. The delay can change one thing: a
        /// consecutive-failure streak may be reset up to `successFlush` later (the successes
        /// land later, never after a failure of this replica). Rate policies count outcomes in
        /// a window, whose totals are the same.
        public var successFlush: Duration = .milliseconds(100)
        /// Ask the daemon for a heartbeat this often on the `watch` connection. While they keep
        /// arriving (the last within twice this), a closed breaker's `allow` (`until_pushed`) is
        /// held until a pushed event says otherwise, instead of for `cache_ms`. Nil: never.
        public var watchHeartbeat: Duration? = .seconds(1)
        /// Records waiting to be sent; when full the oldest is dropped (and counted).
        public var maxQueuedRecords = 10_000
        /// Records written but not yet acknowledged, per connection.
        public var maxInFlightRecords = 256
        /// How long after its first write a record whose connection failed before the reply
        /// keeps being resent (with the same `dedupe` key) on new connections; past it, it is
        /// counted in `recordsLost`. It must stay well inside the daemon's dedupe window
        /// (`--dedupe-window-ms`, 10 minutes by default): a resend after the daemon forgot the
        /// key would be counted twice. An outcome a minute old is also of little use to a
        /// breaker that has moved on.
        public var recordRetryLimit: Duration = .seconds(60)
        /// How long an open breaker learnt of from a push or a record reply (which carry no
        /// deadline) is rejected without asking; the daemon's own `cache_ms` is used otherwise.
        public var inferredOpenCache: Duration = .seconds(1)
        /// Longest line accepted from the daemon.
        public var maxLineLength = 1 << 20
        /// The client's own log; breakerd's decisions are not logged per call.
        public var logger = Logger(label: "breaker-client")
        /// Prefix of the swift-metrics labels the client reports under.
        public var metricsPrefix = "breaker_client"
        /// Speak TLS to a breakerd started with `--tls-cert`. Set `trustRoots` to the CA of a
        /// private PKI, and `certificateChain` / `privateKey` when the daemon asks for client
        /// certificates (`--tls-client-ca`); `useTLS(caFile:certificateFile:keyFile:)` does
        /// this from PEM files. The daemon's certificate must name `host` (or
        /// `tlsServerName`), as a DNS name or an IP address.
        public var tls: TLSConfiguration?
        /// The name the daemon's certificate is checked against (and sent in SNI) when it is not
        /// the endpoint's host, e.g. connecting to an IP address with a certificate for a DNS name.
        public var tlsServerName: String?
        /// Where the client reads the time (`.system`; tests pass `.manual(_:)`).
        public var clock: Clock = .system
        /// Event loops for the client's connections; NIO's shared singleton by default.
        public var eventLoopGroup: any EventLoopGroup

        /// The defaults, for breakerd at `host:port`. Pass `eventLoopGroup` to share the
        /// service's own NIO threads instead of NIO's singleton.
        public init(host: String = "127.0.0.1", port: Int = 7420, eventLoopGroup: (any EventLoopGroup)? = nil) {
            self.init(endpoints: [Endpoint(host: host, port: port)], eventLoopGroup: eventLoopGroup)
        }

        /// The defaults, for the daemons at `endpoints` (tried in order; see `endpoints`).
        public init(endpoints: [Endpoint], eventLoopGroup: (any EventLoopGroup)? = nil) {
            self.endpoints = endpoints
            self.eventLoopGroup = eventLoopGroup ?? Self.defaultGroup()
        }
    }
}

extension BreakerClient.Configuration {
    /// How long the decision (`watch`) connection may be silent before it is pinged: while the
    /// watch stream heartbeats, a stream silent for two intervals is already stalled (held
    /// answers end then), so that is when it is pinged.
    var decisionLinkSilence: Duration? {
        guard let interval = heartbeatInterval else { return nil }
        guard watchTransitions, let beat = watchHeartbeat else { return interval }
        return max(interval, beat * 2)
    }

    /// Turns TLS on from PEM files: `caFile` is trusted instead of the system roots, and the
    /// client certificate with its key is presented when the daemon asks for one.
    public mutating func useTLS(caFile: String?, certificateFile: String? = nil, keyFile: String? = nil) throws {
        do throws(TLSSetupError) {
            tls = try ClientTLS.configuration(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        } catch {
            throw BreakerClientError(.badRequest, "invalid BreakerClient configuration: \(error.message)")
        }
    }

    static func defaultGroup() -> any EventLoopGroup { MultiThreadedEventLoopGroup.singleton }
}
