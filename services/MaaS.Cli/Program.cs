using MaaS.Cli.Framework;

// The `maas` command line: the tree of commands is in Framework/MaasCli.cs, each noun's commands in Commands/.
return await MaasCli.RunAsync(args, CliHost.FromProcess());
