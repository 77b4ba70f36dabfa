import ArgumentParser
import BreakerCore
import BreakerWire

struct ConfigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Create or change a breaker's configuration (state and counts are kept).",
        discussion: "Presets: database 5/2/30s, message-broker 3/2/20s, internal-api 5/3/60s, external-api 10/5/2m (failures/successes/timeout); each has a -rate variant (e.g. external-api-rate) that trips on a failure rate over a window instead (see README, Choosing a policy). Explicit flags override the preset.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("request-timeout"), help: "How long to wait for the daemon (e.g. 5s).", transform: parseDuration)
    var requestTimeout: Int64 = 5000

    @Argument(help: "Breaker name.")
    var name: String

    @Option(help: "Start from a preset: \(BreakerPreset.names).")
    var preset: BreakerPreset?

    @Option(name: .customLong("failure-threshold"), help: "Consecutive failures that open the breaker.")
    var failureThreshold: Int?

    @Option(name: .customLong("success-threshold"), help: "Successful trials that close it.")
    var successThreshold: Int?

    @Option(help: "How long it stays open (e.g. 30s, 2m).", transform: parseDuration)
    var timeout: Int64?

    @Option(name: .customLong("half-open-max-calls"), help: "Trials allowed at once in half-open.")
    var halfOpenMaxCalls: Int?

    @Option(name: .customLong("half-open-permit-timeout"), help: "Time to report a trial (e.g. 30s).", transform: parseDuration)
    var halfOpenPermitTimeout: Int64?

    @OptionGroup var policy: PolicyOptions

    func validate() throws {
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        guard preset != nil || failureThreshold != nil || successThreshold != nil || timeout != nil
            || halfOpenMaxCalls != nil || halfOpenPermitTimeout != nil || !policy.isEmpty
        else { throw ValidationError("nothing to configure: give --preset or at least one setting") }
    }

    /// The preset, overridden field by field by explicit flags.
    var patch: BreakerConfigPatch {
        var patch = preset?.patch ?? BreakerConfigPatch()
        if let failureThreshold { patch.failureThreshold = failureThreshold }
        if let successThreshold { patch.successThreshold = successThreshold }
        if let timeout { patch.timeoutMs = timeout }
        if let halfOpenMaxCalls { patch.halfOpenMaxCalls = halfOpenMaxCalls }
        if let halfOpenPermitTimeout { patch.halfOpenPermitTimeoutMs = halfOpenPermitTimeout }
        policy.apply(to: &patch)
        return patch
    }

    func run() throws {
        let reply = try global.connectAsAdmin(timeoutMs: requestTimeout).request(.configure(breaker: name, patch: patch), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0, colored: global.colored)) }
    }
}

extension BreakerPreset: ExpressibleByArgument {}
