namespace ModelForge.Core.Diagnostics;

/// <summary>Where a problem is: a file, optionally a line and column in it, and the original Python source line.</summary>
public sealed record SourceLocation(string File, int Line = 0, int Column = 0, string? PythonSource = null)
{
    /// <summary>MSBuild's canonical origin format: <c>file(line,col)</c>, so tools can jump to it.</summary>
    public override string ToString() =>
        Line <= 0 ? File : Column <= 0 ? $"{File}({Line})" : $"{File}({Line},{Column})";
}

/// <summary>Errors stop the command; warnings are reported and the command goes on (e.g. an accuracy gate set to warn).</summary>
public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>A user-facing problem: a stable code, what is wrong, where, and what to do about it.</summary>
public sealed record Diagnostic(DiagnosticCode Code, string Message, SourceLocation? Location = null, string? Hint = null,
    DiagnosticSeverity Severity = DiagnosticSeverity.Error)
{
    /// <summary>
    /// One diagnostic in MSBuild's canonical format (<c>origin: error MF1234: message</c>, or <c>warning</c>), followed by
    /// indented lines for the Python source and the hint.
    /// </summary>
    public string Format()
    {
        var origin = Location is null ? "modelforge" : Location.ToString();
        var severity = Severity == DiagnosticSeverity.Warning ? "warning" : "error";
        var text = $"{origin}: {severity} {Code.AsString()}: {Message}";
        if (Location?.PythonSource is { Length: > 0 } python)
            text += Environment.NewLine + "    python: " + python;
        if (Hint is { Length: > 0 })
            text += Environment.NewLine + "    hint: " + Hint;
        return text;
    }

    public override string ToString() => Format();
}

/// <summary>Thrown for failures the user can fix; carries one or more diagnostics and never needs a stack trace.</summary>
public sealed class ModelForgeException : Exception
{
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    public ModelForgeException(Diagnostic diagnostic, Exception? inner = null)
        : this([diagnostic], inner) { }

    public ModelForgeException(IReadOnlyList<Diagnostic> diagnostics, Exception? inner = null)
        : base(string.Join(Environment.NewLine, diagnostics.Select(d => d.Format())), inner)
    {
        if (diagnostics.Count == 0) throw new ArgumentException("At least one diagnostic is required.", nameof(diagnostics));
        Diagnostics = diagnostics;
    }

    public ModelForgeException(DiagnosticCode code, string message, SourceLocation? location = null, string? hint = null)
        : this(new Diagnostic(code, message, location, hint)) { }

    public DiagnosticCode Code => Diagnostics[0].Code;
}
