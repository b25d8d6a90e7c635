; Inno Setup script for the Windows installer. Build the onedir bundle first (packaging/README.md), then:
;   iscc /DAppVersion=0.1.0 /DBundleDir=..\..\build\dist\captioner /DOutputDir=..\..\build\dist packaging\windows\captioner.iss
; The bundle holds Captioner.exe (windowed, Start menu) and captioner-cli.exe (console: transcribe, --smoke-test).

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (the version in pyproject.toml)
#endif
#ifndef BundleDir
  #define BundleDir "..\..\build\dist\captioner"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\build\dist"
#endif

[Setup]
AppId={{8C3F0D2E-5B7A-4E52-9B1D-4A6C2E9F7B31}
AppName=Captioner
AppVersion={#AppVersion}
AppPublisher=Captioner developers
DefaultDirName={autopf}\Captioner
DefaultGroupName=Captioner
DisableProgramGroupPage=yes
; Per-user install by default (no admin prompt); the user may choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=Captioner-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\Captioner.exe

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Captioner"; Filename: "{app}\Captioner.exe"
Name: "{group}\{cm:UninstallProgram,Captioner}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Captioner"; Filename: "{app}\Captioner.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Captioner.exe"; Description: "{cm:LaunchProgram,Captioner}"; Flags: nowait postinstall skipifsilent
