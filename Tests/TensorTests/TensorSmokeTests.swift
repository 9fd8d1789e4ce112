import Testing
import Tensor

@Test func TensorModuleLinks() {
    #expect(Bool(true))
}
