using System.CommandLine;
using System.Diagnostics;

namespace ModelForge.Cli.Tests;

/// <summary>Runs the real command tree in process with captured stdout/stderr.</summary>
internal static class CliRunner
{
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Starts the built CLI as a real process (its output is drained and dropped), in <paramref name="workingDirectory"/> if given.</summary>
    public static Process Start(string? workingDirectory, params string[] args)
    {
        var process = Process.Start(StartInfo(workingDirectory, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs the built CLI as a real process to its end: what <c>modelforge</c> on a command line does, native crashes included.</summary>
    public static (int ExitCode, string Output, string Error) RunProcess(params string[] args)
    {
        var start = StartInfo(null, args);
        // The test output keeps libtorch and ONNX Runtime in runtimes/linux-x64/native, where the testhost's deps.json
        // finds them; modelforge.deps.json (a linux-x64 build) looks beside modelforge.dll instead, as in the installed tool.
        start.Environment["LD_LIBRARY_PATH"] = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    private static ProcessStartInfo StartInfo(string? workingDirectory, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "modelforge.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }
}
