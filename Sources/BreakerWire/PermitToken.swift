import BreakerCore

/// The text form of a half-open permit: `<epoch>.<generation>.<sequence>`.
///
/// `epoch` is chosen by the daemon at start-up, so a permit granted before a restart can never
/// be mistaken for one granted after it (sequence numbers start again at zero). Clients treat
/// the whole string as opaque.
public struct PermitToken: Sendable, Hashable, CustomStringConvertible {
    public var epoch: String
    public var permit: Permit

    public init(epoch: String, permit: Permit) {
        self.epoch = epoch
        self.permit = permit
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty,
              let generation = UInt64(parts[1]), let sequence = UInt64(parts[2])
        else { return nil }
        self.init(epoch: String(parts[0]), permit: Permit(generation: generation, sequence: sequence))
    }

    public var description: String { "\(epoch).\(permit.generation).\(permit.sequence)" }
}
