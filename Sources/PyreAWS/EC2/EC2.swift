/// EC2's Query API.
public enum EC2 {
    /// The API version every EC2 call names.
    public static let apiVersion = "2016-11-15"
}
