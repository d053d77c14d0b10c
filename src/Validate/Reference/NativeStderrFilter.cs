using System.Runtime.InteropServices;
using System.Text;

namespace ModelForge.Validate.Reference;

/// <summary>
/// Drops known-noise lines that libtorch writes straight to file descriptor 2 while it runs (it warns
/// "Could not initialize NNPACK! Reason: Unsupported hardware" once per convolution call on CPUs NNPACK does not
/// support, then falls back silently; libtorch alone offers no switch for it). While any scope is open, fd 2 is a
/// pipe that a thread drains; when the last scope closes, fd 2 is restored and every other line is written through,
/// in order. Scopes may overlap across threads (tests run references in parallel): they share one redirection.
/// Linux only: elsewhere a scope does nothing.
/// </summary>
internal sealed class NativeStderrFilter : IDisposable
{
    private const int StandardError = 2;
    private static readonly Lock Gate = new();
    private static int _openScopes;
    private static Redirection? _active;

    private readonly string _dropLinesContaining;
    private bool _disposed;

    private NativeStderrFilter(string dropLinesContaining)
    {
        _dropLinesContaining = dropLinesContaining;
        lock (Gate)
        {
            if (_openScopes++ == 0 && OperatingSystem.IsLinux()) _active = Redirection.Start();
        }
    }

    public static NativeStderrFilter Dropping(string fragment) => new(fragment);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (Gate)
        {
            if (--_openScopes > 0) return;
            _active?.Stop(_dropLinesContaining);
            _active = null;
        }
    }

    private sealed class Redirection
    {
        private readonly int _savedStderr;
        private readonly Thread _reader;
        private readonly MemoryStream _captured = new();

        private Redirection(int savedStderr, int readEnd)
        {
            _savedStderr = savedStderr;
            _reader = new Thread(() => Drain(readEnd)) { IsBackground = true, Name = "native stderr filter" };
            _reader.Start();
        }

        public static Redirection? Start()
        {
            var fds = new int[2];
            if (pipe(fds) != 0) return null;
            var saved = dup(StandardError);
            if (saved < 0 || dup2(fds[1], StandardError) < 0)
            {
                close(fds[0]);
                close(fds[1]);
                if (saved >= 0) close(saved);
                return null;
            }
            close(fds[1]);
            return new Redirection(saved, fds[0]);
        }

        private void Drain(int fd)
        {
            var buffer = new byte[8192];
            nint count;
            while ((count = read(fd, buffer, buffer.Length)) > 0) _captured.Write(buffer, 0, (int)count);
            close(fd);
        }

        public void Stop(string dropLinesContaining)
        {
            // Restoring fd 2 closes the pipe's last write end, so the reader sees end-of-file.
            dup2(_savedStderr, StandardError);
            close(_savedStderr);
            _reader.Join();
            var kept = Encoding.UTF8.GetString(_captured.ToArray()).Split('\n')
                .Where(line => line.Length > 0 && !line.Contains(dropLinesContaining, StringComparison.Ordinal))
                .Select(line => line + "\n");
            var bytes = Encoding.UTF8.GetBytes(string.Concat(kept));
            if (bytes.Length > 0) write(StandardError, bytes, bytes.Length);
        }
    }

    [DllImport("libc", SetLastError = true)] private static extern int pipe(int[] fds);
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int oldFd, int newFd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte[] buffer, nint count);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte[] buffer, nint count);
}
