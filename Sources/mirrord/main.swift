import MirrorDaemon

await MirrordCommand.launch()
