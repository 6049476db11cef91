import Foundation
import PyreAWS
import PyreCore
import Testing

/// A Debian base that cannot boot on EC2 is refused before anything is baked, naming the
/// packages it lacks; one with them, or an image with an AMI of its own, passes.
struct AMIRequirementsTests {
    private func recipe(_ packages: [String], amis: [String: String] = [:]) -> ImageRecipe {
        ImageRecipe(name: "web", context: URL(fileURLWithPath: "/tmp"), run: ["/app/start"], amis: amis,
                    base: .debian(suite: "bookworm", packages: packages, mirror: nil))
    }

    @Test func aBaseWithoutAKernelOrCloudInitIsRefusedByName() throws {
        let error = try #require(throws: PyreError.self) { try AWSSystem.checkBootable(recipe(["python3", "systemd-sysv"])) }
        #expect(error.message.contains("lacks a kernel (linux-image-cloud-amd64), a UEFI boot loader (systemd-boot-efi), "
            + "cloud-init, which starts the server from user data (cloud-init)"), "\(error.message)")
        #expect(!error.message.contains("(systemd-sysv)"))
    }

    @Test func aBootableBaseOrAnAMIOfItsOwnPasses() throws {
        try AWSSystem.checkBootable(recipe(["linux-image-amd64=6.1.119-1", "systemd-boot-efi", "systemd-sysv", "cloud-init"]))
        try AWSSystem.checkBootable(recipe([], amis: ["eu-west-1": "ami-0abc123"]))
    }
}
