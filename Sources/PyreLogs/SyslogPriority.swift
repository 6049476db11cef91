/// The severity half of a syslog PRI (RFC 5424 section 6.2.1), most severe first.
public enum SyslogSeverity: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case emerg, alert, crit, err, warning, notice, info, debug

    /// The keyword syslog.conf and logger use (`emerg` … `debug`).
    public var description: String {
        switch self {
        case .emerg: "emerg"
        case .alert: "alert"
        case .crit: "crit"
        case .err: "err"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }
}

/// The facility half of a syslog PRI (RFC 5424 section 6.2.1).
public enum SyslogFacility: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp
    case security, console, solarisCron
    case local0, local1, local2, local3, local4, local5, local6, local7

    /// The keyword syslog.conf and rsyslog use (`kern` … `local7`).
    public var description: String { Self.keywords[Int(rawValue)] }

    private static let keywords = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
        "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
        "local7",
    ]
}
