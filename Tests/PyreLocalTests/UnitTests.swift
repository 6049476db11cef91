import Foundation
import Glibc
import PyreCore
import PyreImages
import Testing
@testable import PyreLocal

@Suite("Local provider building blocks")
struct UnitTests {
    @Test func parsesSubnets() throws {
        let subnet = try IPv4Subnet("10.213.7.9/16")
        #expect(subnet.description == "10.213.0.0/16")
        #expect(subnet.address(at: 1) == "10.213.0.1")
        #expect(subnet.address(at: 258) == "10.213.1.2")
        #expect(subnet.size == 65536)
        for bad in ["10.213.0.0", "10.213.0/16", "10.213.0.256/24", "10.213.0.0/31", "x/24", "10.213.0.0/abc"] {
            #expect(throws: PyreError.self, "\(bad) should be rejected") { try IPv4Subnet(bad) }
        }
    }

    @Test func tailReturnsTheLastLines() throws {
        let directory = try TestSupport.temporaryDirectory("tail")
        defer { try? FileTree.remove(directory.path) }
        let file = directory.appendingPathComponent("output.log")
        #expect(OutputLog.tail(of: file, lines: 5) == [])
        try (1...100_000).map { "line \($0)" }.joined(separator: "\n").appending("\n")
            .write(to: file, atomically: true, encoding: .utf8)
        #expect(OutputLog.tail(of: file, lines: 2) == ["line 99999", "line 100000"])
        #expect(OutputLog.tail(of: file, lines: 0) == [])
    }

    @Test func processTableKnowsThisProcess() throws {
        let me = try #require(ProcessTable.status(of: getpid()))
        #expect(me.parent == getppid())
        #expect(me.group == getpgrp())
        #expect(me.session == getsid(0))
        #expect(!me.isZombie)
        #expect(ProcessTable.status(of: getpid())?.startTime == me.startTime)
        #expect(ProcessTable.all().contains { $0.pid == getpid() })
    }

    @Test func copiesReadOnlyImagesIntoWritableTreesAndRemovesThem() throws {
        let directory = try TestSupport.temporaryDirectory("copy")
        defer { try? FileTree.remove(directory.path) }
        let image = try TestSupport.makeImage(in: directory, files: ["a.txt": "a"])
        let nested = image.appendingPathComponent("nested")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: image.path)
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: false)
        try "b".write(to: nested.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: image.appendingPathComponent("link").path, withDestinationPath: "a.txt")
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: nested.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: image.path)

        let copy = directory.appendingPathComponent("copy")
        try FileTree.copy(image.path, to: copy.path, writable: true)
        #expect(try String(contentsOf: copy.appendingPathComponent("nested/b.txt"), encoding: .utf8) == "b")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: copy.appendingPathComponent("link").path) == "a.txt")
        let mode = try FileManager.default.attributesOfItem(atPath: copy.appendingPathComponent("a.txt").path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        try FileTree.remove(image.path)
        #expect(!FileManager.default.fileExists(atPath: image.path))
        try FileTree.remove(image.path)
    }
}
