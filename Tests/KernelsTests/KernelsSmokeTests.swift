import Testing
import Kernels

@Test func KernelsModuleLinks() {
    #expect(Bool(true))
}
