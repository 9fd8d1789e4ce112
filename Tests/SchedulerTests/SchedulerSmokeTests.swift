import Testing
import Scheduler

@Test func SchedulerModuleLinks() {
    #expect(Bool(true))
}
