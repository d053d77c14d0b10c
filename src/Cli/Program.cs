using System.CommandLine;
using ModelForge.Cli.Commands;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, new InvocationConfiguration());

    /// <summary>
    /// Parses and runs. A command line that does not parse is reported as <c>MF5005</c> diagnostics on stderr with exit 2,
    /// never with the help text (<see cref="UsageErrors"/>); <c>--help</c> still shows help, even beside other mistakes.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration configuration)
    {
        var parse = BuildRootCommand().Parse(args);
        if (HelpText.IsHelp(parse)) return parse.Invoke(configuration);
        if (parse.Errors.Count > 0)
        {
            foreach (var diagnostic in UsageErrors.From(parse)) configuration.Error.WriteLine(diagnostic.Format());
            return ExitCodes.InvalidInput;
        }
        if (CommonOptions.IsQuiet(parse) && CommonOptions.IsVerbose(parse))
        {
            configuration.Error.WriteLine(new Diagnostic(DiagnosticCode.CommandLineInvalid, "--quiet and --verbose exclude each other",
                null, "give one of them").Format());
            return ExitCodes.InvalidInput;
        }
        if (CommonOptions.IsQuiet(parse))
            // Everything on stdout is progress and results; warnings and errors go to stderr, which stays.
            configuration = new InvocationConfiguration { Output = TextWriter.Null, Error = configuration.Error };
        return parse.Invoke(configuration);
    }

    internal static RootCommand BuildRootCommand()
    {
        var root = new RootCommand(
            "ModelForge: a build-time model compiler. Converts TorchScript archives (torch.jit.trace/script + save) " +
            "to ONNX without Python, and checks the result against the original model.")
        {
            ConvertCommand.Create(),
            ValidateCommand.Create(),
            OptimizeCommand.Create(),
            EngineCommand.Create(),
            PackageCommand.Create(),
            BuildCommand.Create(),
            CompletionCommand.Create(),
        };
        CommonOptions.AddVerbosity(root);
        HelpText.Install(root);
        return root;
    }
}
