import Testing
@testable import PyreEntrypoints
