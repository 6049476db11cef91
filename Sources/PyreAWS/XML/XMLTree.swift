import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML element as plain values: name (namespace prefix dropped), text, children.
/// Built with Foundation's `XMLDocument`, whose classes are neither `Sendable` nor handy to walk.
public struct XMLTree: Sendable, Equatable {
    public var name: String
    /// The element's own text (not its children's), trimmed.
    public var text: String
    public var children: [XMLTree]

    public init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// Parses a document; nil when it is not well-formed XML.
    public init?(parsing data: Data) {
        guard let root = (try? XMLDocument(data: data, options: []))?.rootElement() else { return nil }
        self = XMLTree(root)
    }

    private init(_ element: XMLElement) {
        name = element.localName ?? element.name ?? ""
        var text = ""
        var children: [XMLTree] = []
        for node in element.children ?? [] {
            if let child = node as? XMLElement {
                children.append(XMLTree(child))
            } else if node.kind == .text {
                text += node.stringValue ?? ""
            }
        }
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        self.children = children
    }

    /// The first child named `name`.
    public subscript(_ name: String) -> XMLTree? {
        children.first { $0.name == name }
    }

    /// The first element along a path of child names: `tree[path: "Errors", "Error", "Code"]`.
    public subscript(path names: String...) -> XMLTree? {
        names.reduce(Optional(self)) { $0?[$1] }
    }

    /// Every child named `name`, in order.
    public func all(_ name: String) -> [XMLTree] {
        children.filter { $0.name == name }
    }
}
