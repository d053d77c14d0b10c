using System.Diagnostics;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;
using TorchSharp;

namespace ModelForge.Validate.Reference;

/// <summary>
/// libtorch ends the whole process (std::terminate, SIGABRT, exit 134) when it cannot compile an archive's code: an
/// operator or a class it does not have, arguments an operator does not take. Its compile error is a C++ exception type
/// (torch::jit::ErrorReport) that TorchSharp's binding does not catch, so no .NET code can recover from it in process.
/// The CLI therefore has each archive loaded by a child first (itself, through the hidden <see cref="CommandName"/>
/// command) and reports a child that dies as MF3001 with libtorch's own message; the archive is then loaded in process,
/// where a failure libtorch does report is an ordinary exception. Without <see cref="CliCommand"/> (ModelForge used as a
/// library, the tests' in-process runs) the archive is loaded in process only.
/// </summary>
public static partial class ReferenceLoadCheck
{
    public const string CommandName = "__load-reference";

    /// <summary>The program and leading arguments that start the CLI (its <c>Main</c> sets them); null: no child check.</summary>
    public static IReadOnlyList<string>? CliCommand { get; set; }

    /// <summary>
    /// The child's side: loads the archive with libtorch and returns 0, or 1 when libtorch reports the failure (the parent
    /// then reports it from its own load). An error libtorch cannot report ends this process instead, which is the point.
    /// </summary>
    public static int LoadInThisProcess(string archivePath, TextWriter error)
    {
        LibTorchRuntime.EnsureConfigured();
        try
        {
            using var module = torch.jit.load(archivePath);
            return 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>
    /// Starts loading <paramref name="loadPath"/> in a child when <see cref="CliCommand"/> is set (null otherwise), so it
    /// runs while this process sets up its own libtorch; <see cref="Child.Wait"/> says how it went.
    /// </summary>
    internal static Child? Start(string loadPath, string modelPath)
    {
        if (CliCommand is not { Count: > 0 } command) return null;
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1).Append(CommandName).Append(loadPath)) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start '{command[0]}' to load the reference");
        return new Child(process, modelPath);
    }

    internal sealed class Child(Process process, string modelPath) : IDisposable
    {
        private readonly Task<string> _stderr = process.StandardError.ReadToEndAsync();
        private readonly Task<string> _stdout = process.StandardOutput.ReadToEndAsync();

        /// <summary>
        /// Returns when the child exited by itself (0, or 1 for a failure libtorch reported, which the in-process load
        /// then reports too); a child that libtorch ended becomes MF3001 located in the model, or an internal error when
        /// the code libtorch refused is ModelForge's own (the torchvision substitutes).
        /// </summary>
        public void Wait()
        {
            process.WaitForExit();
            _ = _stdout.Result;
            if (process.ExitCode is not (0 or 1)) throw Failure(_stderr.Result, process.ExitCode, modelPath);
        }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
        }
    }

    /// <summary>
    /// libstdc++ writes "terminate called after throwing an instance of 'TYPE'" and "  what():  MESSAGE" before it aborts;
    /// libtorch's compile messages name the archive's code file and line (<c>File "code/__torch__.py", line 9</c>).
    /// </summary>
    internal static Exception Failure(string stderr, int exitCode, string modelPath)
    {
        var what = WhatPattern().Match(stderr);
        if (!what.Success)
        {
            var lastLine = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            return new ModelForgeException(DiagnosticCode.ReferenceFailed,
                $"libtorch ended the process while loading '{modelPath}' (exit code {exitCode}){(lastLine is null ? "" : ": " + lastLine)}",
                new SourceLocation(modelPath), "check that the file is a TorchScript archive saved with torch.jit.save");
        }
        var message = what.Groups["message"].Value;
        var summary = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? what.Groups["type"].Value;
        var place = CodeLinePattern().Match(message);
        if (place.Success && TorchvisionSubstitutes.IsSubstituteFile(place.Groups["file"].Value))
            return new InvalidOperationException($"libtorch cannot compile ModelForge's torchvision substitutes: {message.Trim()}");
        var location = place.Success
            ? new SourceLocation($"{modelPath}!/{place.Groups["file"].Value}", int.Parse(place.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture))
            : new SourceLocation(modelPath);
        return new ModelForgeException(DiagnosticCode.ReferenceFailed,
            $"libtorch cannot compile the archive's code ({what.Groups["type"].Value}): {summary} The native reference cannot run this model, so the accuracy gate cannot compare it",
            location,
            "the archive calls something this libtorch does not have (an unknown or removed aten operator, a custom class or operator " +
            "from another library) or calls it with arguments it does not take; save the model with a PyTorch whose operators it uses only");
    }

    [GeneratedRegex(@"terminate called after throwing an instance of '(?<type>[^']*)'\s*\n\s*what\(\):\s*(?<message>[\s\S]*)")]
    private static partial Regex WhatPattern();

    [GeneratedRegex(@"File ""(?<file>code/[^""]+)"", line (?<line>\d+)")]
    private static partial Regex CodeLinePattern();
}
