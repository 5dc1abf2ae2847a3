// Package certificate makes and checks evidence certificates (存证证书 /
// 出证): a printable PDF stating what the ledger holds about one record,
// signed by the issuing member's SM2 member key (GB/T 32918.2 over SM3), that
// carries the record's complete receipt (docs/RECEIPT.md) as a PDF file
// attachment (ISO 32000-1 §7.11.4, embedded file streams), so that the PDF
// alone is the evidence.
//
// Build draws the PDF from Data; Extract reads its two attachments back,
// receipt.json and certificate.json (the signed content); Verify checks the
// signature, that the signed facts are the receipt's, and then the receipt
// itself (receipt.Verify), offline, against the verifier's roster. The
// signed content and the steps are defined in docs/RECEIPT.md,
// "Certificates".
package certificate
