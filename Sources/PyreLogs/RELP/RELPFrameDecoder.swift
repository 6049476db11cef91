import NIOCore

/// Cuts RELP frames out of a connection's bytes. A malformed frame is thrown as a
/// `RELPFrameError`, which the session answers with an error and a close.
struct RELPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RELPFrame

    var maxDataLength = RELPFrameParser.defaultMaxDataLength

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let limit = maxDataLength
        let parsed = try buffer.withUnsafeReadableBytes { bytes throws(RELPFrameError) in
            try RELPFrameParser.parse(bytes, maxDataLength: limit)
        }
        guard let parsed else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        context.fireChannelRead(wrapInboundOut(parsed.frame))
        return .continue
    }

    /// An unfinished frame at the end of the stream was never acknowledged: the client resends it.
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while case .continue = try decode(context: context, buffer: &buffer) {}
        buffer.clear()
        return .needMoreData
    }
}
