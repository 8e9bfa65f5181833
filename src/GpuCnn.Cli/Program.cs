return GpuCnn.Cli.CommandLine.Run(args, Console.Out, Console.Error);
