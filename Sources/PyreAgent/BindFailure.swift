import NIOCore
import PyreCore
import PyreDNS

#if canImport(Glibc)
import Glibc
#endif

/// A listener that could not bind, said in the manifest's terms.
enum BindFailure {
    /// The operating system's reason alone: NIO's errors also name the call
    /// (`bind(descriptor:ptr:bytes:)`), which means nothing to the person reading.
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? SocketFailure { return String(cString: strerror(error.code)) }
        return String(describing: error)
    }

    /// The error for `field` of the manifest (`dns.listen`), at the line that set it.
    static func error(listening listen: String, for listener: String, field: String, _ error: any Error,
                      in spec: SystemSpec) -> PyreError {
        PyreError(.agent, "cannot open \(listener) on \(listen): \(reason(error)); stop what holds the address, "
            + "or change it in the manifest", location: spec.fieldLocations[field], field: field)
    }
}
