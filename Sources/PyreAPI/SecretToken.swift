import Foundation

/// A fresh secret: 32 bytes from the system's random source (getrandom), as 64 hex digits.
public enum SecretToken {
    public static func random() -> String {
        (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
    }
}
