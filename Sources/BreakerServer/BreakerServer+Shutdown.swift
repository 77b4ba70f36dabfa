import NIOCore

extension BreakerServer {
    /// Stops accepting, then lets every connection finish: each stops reading new requests (as
    /// if the client had half-closed), writes the replies it still owes — including those waiting
    /// for a commit — and closes. After `timeout` the connections left are closed by force.
    /// Returns how many had to be forced. Call `registry.shutdown()` afterwards: commits still in
    /// flight then complete, and nothing acknowledged is lost either way.
    public func shutdownGracefully(timeout: Duration) async -> Int {
        switch listener {
        #if os(Linux)
        case .epoll(let server):
            return await server.shutdownGracefully(timeout: timeout)
        #endif
        case .nio(let channel, let connections):
            try? await channel.close()
            for channel in connections.all {
                channel.eventLoop.execute {
                    _ = channel.setOption(ChannelOptions.autoRead, value: false)
                    // Lines already read are answered and nothing more is read: the half-close
                    // path, except that a line still missing its terminator is not run.
                    let adapter = try? channel.pipeline.syncOperations.handler(type: NIOConnectionAdapter.self)
                    adapter?.handler.stopReading()
                }
            }
            return await connections.waitUntilClosed(timeout: timeout)
        }
    }
}
