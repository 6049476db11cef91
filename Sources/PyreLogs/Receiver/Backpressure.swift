import NIOCore

/// Receivers stop reading while the log writer is busy and start again the moment it takes
/// its backlog as the next batch, so what waits in memory (and what a crash loses) stays
/// about one batch, while the kernel's window slows the senders.
enum Backpressure {
    /// A stream connection's socket buffer: small, because what waits there is lost with the
    /// process too, yet large enough for full-speed reads on loopback.
    static let streamReceiveBuffer = 256 << 10

    /// Call after handing a read's records to `writer`.
    static func pauseWhileBusy(_ channel: any Channel, writer: LogWriter) {
        guard writer.isBusy else { return }
        channel.setOption(.autoRead, value: false).whenSuccess {
            writer.whenNotBusy {
                channel.eventLoop.execute {
                    channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
                }
            }
        }
    }
}
