import Testing
@testable import PyreDNS
