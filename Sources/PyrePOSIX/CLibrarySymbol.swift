import Glibc

/// A C library function looked up at run time: for glibc functions Swift's Glibc module does
/// not expose (GNU extensions) or cannot call (variadic ones).
public func cLibrarySymbol<Function>(_ name: String, as type: Function.Type) -> Function? {
    guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
    return unsafeBitCast(address, to: Function.self)
}
