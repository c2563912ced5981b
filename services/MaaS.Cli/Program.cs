using MaaS.Cli;
using MaaS.Cli.Walkthrough;

var options = CliOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(CliOptions.Usage);
    return 2;
}
return options.Command switch
{
    "walkthrough" => await new WalkthroughRunner(options, Console.Out).RunAsync(),
    _ => 2,
};
