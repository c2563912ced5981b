using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Where a ListJobs page ended: the (created_at, job_id) of its last job, in the order newest first, ties by job id
/// descending. A position, not a row number, so it continues one replica's listing and a merge of several alike.
/// </summary>
/// <param name="CreatedTicks">created_at of the last job returned, in UTC ticks (the precision trainer.db keeps).</param>
/// <param name="JobId">Its job id.</param>
public readonly record struct JobCursor(long CreatedTicks, string JobId)
{
    private const string Prefix = "c1.";
    private const int MaxJobIdBytes = 256;

    /// <summary>Newest first; equal times by job id, descending (ordinal, as SQLite compares text).</summary>
    public static IComparer<Job> NewestFirst { get; } = Comparer<Job>.Create((a, b) => Compare(Of(b), Of(a)));

    /// <summary>The position of <paramref name="job"/>.</summary>
    public static JobCursor Of(Job job) => new(job.CreatedAt?.ToDateTimeOffset().UtcTicks ?? 0, job.JobId);

    /// <summary>created_at as trainer.db writes it (round-trip text, UTC), for comparing in SQL.</summary>
    public string CreatedText => new DateTimeOffset(CreatedTicks, TimeSpan.Zero).ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The opaque page token: "c1." and base64url of the ticks (8 bytes, big-endian) and the UTF-8 job id.</summary>
    public string ToToken()
    {
        var id = Encoding.UTF8.GetBytes(JobId);
        var bytes = new byte[8 + id.Length];
        BinaryPrimitives.WriteInt64BigEndian(bytes, CreatedTicks);
        id.CopyTo(bytes, 8);
        return Prefix + Base64Url.EncodeToString(bytes);
    }

    /// <summary>Reads a token of <see cref="ToToken"/>; false for anything else.</summary>
    public static bool TryParse(string token, out JobCursor cursor)
    {
        cursor = default;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var text = token.AsSpan(Prefix.Length);
        if (!Base64Url.IsValid(text, out var length) || length is < 9 or > 8 + MaxJobIdBytes) return false;
        var bytes = Base64Url.DecodeFromChars(text);
        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (ticks < 0 || ticks > DateTime.MaxValue.Ticks) return false;
        string id;
        try
        {
            id = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 8, bytes.Length - 8);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        cursor = new JobCursor(ticks, id);
        return true;
    }

    private static int Compare(JobCursor a, JobCursor b)
    {
        var byTime = a.CreatedTicks.CompareTo(b.CreatedTicks);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.JobId, b.JobId);
    }
}
