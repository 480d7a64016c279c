"""Running suites: plan the runs into compiled groups (:mod:`.plan`), compile a group
(:mod:`.compile`), train it chunk by chunk (:mod:`.loop`) with checkpoints (:mod:`.checkpoint`),
and schedule, train and write every group of a plan (:mod:`.schedule`). Memory estimates, host
devices, multi-process runs and the compilation cache live beside them."""
