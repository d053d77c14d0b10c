using System.CommandLine;
using ModelForge.Cli.Commands;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Validate.Reference;

namespace ModelForge.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // A real modelforge process has each archive loaded by a child first: libtorch ends the process it
        // cannot compile an archive's code in, and a child's death can be reported as MF3001 (ReferenceLoadCheck).
        ReferenceLoadCheck.CliCommand = CommandOfThisProcess();
        return Run(args, new InvocationConfiguration());
    }

    /// <summary>How to start this CLI again: its apphost (the installed tool), or the dotnet host and modelforge.dll.</summary>
    private static string[]? CommandOfThisProcess()
    {
        var host = Environment.ProcessPath;
        if (host is null) return null;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(Program).Assembly.Location] : [host];
    }

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
            LoadReferenceCommand(),
        };
        CommonOptions.AddVerbosity(root);
        HelpText.Install(root);
        return root;
    }

    /// <summary>The child side of <see cref="ReferenceLoadCheck"/>: not for users, so hidden from help and completion.</summary>
    private static Command LoadReferenceCommand()
    {
        var archive = new Argument<string>("archive");
        var command = new Command(ReferenceLoadCheck.CommandName, "Loads a TorchScript archive with libtorch (ModelForge's own child process).") { archive };
        command.Hidden = true;
        command.SetAction(parse => ReferenceLoadCheck.LoadInThisProcess(parse.GetRequiredValue(archive), parse.InvocationConfiguration.Error));
        return command;
    }
}
