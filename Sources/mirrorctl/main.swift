import MirrorCLI

#if canImport(Glibc)
import Glibc
#endif

exit(await MirrorCtl.execute(Array(CommandLine.arguments.dropFirst())))
