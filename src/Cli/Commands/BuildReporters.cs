using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Pipeline;
using ModelForge.Pipeline.Stages;
using Spectre.Console;

namespace ModelForge.Cli.Commands;

/// <summary>One line per stage start and end: for CI logs and redirected output, where a live display would be noise.</summary>
internal sealed class PlainBuildReporter(TextWriter output, TextWriter error) : IBuildReporter
{
    public void StageStarted(string stage, string detail) => output.WriteLine($"[{stage}] {detail} ...");

    public void StageFinished(string stage, StageOutcome outcome, TimeSpan elapsed) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{stage}] {outcome.Text} ({elapsed.TotalSeconds:F1} s)"));

    public void Info(string line) => output.WriteLine(line);

    public void Warn(Diagnostic diagnostic) => error.WriteLine(diagnostic.Format());
}

/// <summary>A spinner with the running stage and its elapsed time on a terminal; finished stages stay as lines above it.</summary>
internal sealed class LiveBuildReporter : IBuildReporter
{
    private readonly StatusContext _status;

    private LiveBuildReporter(StatusContext status) => _status = status;

    public static T Run<T>(Func<IBuildReporter, T> build) =>
        AnsiConsole.Status().Spinner(Spinner.Known.Dots).Start("starting", context => build(new LiveBuildReporter(context)));

    public void StageStarted(string stage, string detail) => _status.Status($"[bold]{Markup.Escape(stage)}[/] {Markup.Escape(detail)}");

    public void StageFinished(string stage, StageOutcome outcome, TimeSpan elapsed) =>
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"{Mark(outcome)} [bold]{Markup.Escape(stage)}[/] {Markup.Escape(outcome.Text)} [grey]({elapsed.TotalSeconds:F1} s)[/]"));

    public void Info(string line) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");

    public void Warn(Diagnostic diagnostic) => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(diagnostic.Format())}[/]");

    private static string Mark(StageOutcome outcome) => outcome switch
    {
        StageOutcome.Skipped => "[grey]-[/]",
        StageOutcome.Failed { Severity: DiagnosticSeverity.Warning } => "[yellow]![/]",
        StageOutcome.Failed => "[red]✗[/]",
        _ => "[green]✓[/]",
    };
}
